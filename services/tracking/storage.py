"""Tracking's repository: ID blocks, reports (the read model), timeline entries (each its own outbox), supports."""
import heapq
import itertools
import json
import operator
import re
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository, count_matching
from services.common.tracking_ids import FIRST_SEQUENCE_NUMBER
from services.tracking.domain import created_key, entry_id

ID_COUNTER = "tracking_sequence"
PUBLIC_STATS = "public_stats"
NEWEST_FIRST = [("created_key", DESCENDING)]
# Feed filter → report field; `status` and `category` may also be lists.
PUBLIC_FILTERS = (("status", "status"), ("agency", "agency_code"), ("region", "region_code"),
                  ("category", "category"), ("type", "type"))
# Bounds on created_at: the feed's whole days (`from`, `to` exclusive) and Open311's inclusive `until`.
CREATED_BOUNDS = (("from", "$gte"), ("to", "$lt"), ("until", "$lte"))
_COMPARE = {"$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


class TrackingRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.timeline.create_index([("tracking_id", ASCENDING), ("version", ASCENDING)], unique=True)
        self.db.timeline.create_index([("published", ASCENDING), ("written_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("created_key", DESCENDING)])
        self.db.reports.create_index("agency_code")
        self.db.reports.create_index([("confidential", ASCENDING), ("created_key", DESCENDING)])
        # nx-27017 sorts through an index only when the sort key leads one: 2 ms instead of 180 ms a page.
        self.db.reports.create_index("created_key")
        self.db.reports.create_index([("agency_code", ASCENDING), ("status", ASCENDING), ("due_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
        self.db.reports.create_index([("status", ASCENDING), ("flagged", DESCENDING), ("created_key", ASCENDING)])
        self.db.supports.create_index("tracking_id")
        self.db.access_failures.create_index("window_started_at")
        self.db.access_code_reissues.create_index("day")
        self._add_missing_created_keys()

    def _add_missing_created_keys(self):
        """Cases opened before `created_key` existed get it, so "newest first" still lists them."""
        for report in self.db.reports.find({"created_key": {"$exists": False}}, {"created_at": 1}):
            self.db.reports.update_one({"_id": report["_id"]}, {"$set": {
                "created_key": created_key(report["created_at"], report["_id"])}})

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
        return count_matching(self.db.id_blocks, {})

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
        total = sum(self._count_public(one) for one in queries) if count else None
        return found, total

    def _count_public(self, query):
        if "created_at" in query:  # nx-27017's aggregate $match drops a $lt on a datetime (find honours it)
            return len(list(self.db.reports.find(query, {"_id": 1})))
        return count_matching(self.db.reports, query)

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

    def count_access_failure(self, counter_id, window):
        """Count one wrong access code on a counter (a report and client, or a client: the service names them);
        returns (failures in the window, window start)."""
        current = now()
        record = self.db.access_failures.find_one({"_id": counter_id})
        if record is None or record["window_started_at"] <= current - window:
            self.db.access_failures.update_one(
                {"_id": counter_id}, {"$set": {"window_started_at": current, "count": 1}}, upsert=True
            )
            return 1, current
        record = self.db.access_failures.find_one_and_update(
            {"_id": counter_id}, {"$inc": {"count": 1}}, return_document=ReturnDocument.AFTER
        )
        return record["count"], record["window_started_at"]

    def access_failures(self, counter_id, window):
        record = self.db.access_failures.find_one({"_id": counter_id})
        if record is None or record["window_started_at"] <= now() - window:
            return 0, None
        return record["count"], record["window_started_at"]

    def purge_access_counters(self, opened_before):
        """Drop wrong-code counters whose window opened, and reissue counts of days, before `opened_before`
        (both windows are a day at most). Returns how many went."""
        failures = self.db.access_failures.delete_many({"window_started_at": {"$lt": opened_before}})
        reissues = self.db.access_code_reissues.delete_many({"day": {"$lt": opened_before.date().isoformat()}})
        return failures.deleted_count + reissues.deleted_count

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
            # $set, not $setOnInsert: nx-27017 drops $setOnInsert beside $inc in an upserting find_one_and_update.
            {"$inc": {"count": 1}, "$set": {"tracking_id": tracking_id, "day": day}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return record["count"]

    def add_support(self, support_id, tracking_id, also_known_as=None):
        """One support per key; the report's count goes up only when this one is new (and no support is kept under
        `also_known_as`, the key the same supporter had before the keys were separated)."""
        if also_known_as and self.db.supports.find_one({"_id": also_known_as}, {"_id": 1}) is not None:
            return False
        try:
            self.db.supports.insert_one({"_id": support_id, "tracking_id": tracking_id, "at": now()})
        except DuplicateKeyError:
            return False
        self.db.reports.update_one({"_id": tracking_id}, {"$inc": {"support_count": 1}})
        return True

    def find_inbox(self, statuses, agency_codes, sort, page, per_page, region=None):
        """An inbox page and its total; `region` is a regency/city code or a province's (all its regencies)."""
        within = _within_region(region) if region else {}
        query = dict(within, status={"$in": list(statuses)})
        if agency_codes is not None:
            query["agency_code"] = {"$in": list(agency_codes)}
        cursor = self.db.reports.find(query).sort(sort).skip((page - 1) * per_page).limit(per_page)
        # Counted one status (and agency) at a time: the stand-in counts an equality in 40 ms, an `$in` in 300.
        choices = {"status": list(statuses), **({"agency_code": list(agency_codes)} if agency_codes is not None else {})}
        return list(cursor), sum(count_matching(self.db.reports, dict(within, **one)) for one in _combinations(choices))

    def count_public_by(self, field):
        """{value: number of non-confidential reports} for one plain field.

        All reports grouped, less the confidential ones: nx-27017 answers a bare $group in SQL (20 ms over 100k)
        but filters a $match that keeps most reports row by row (650 ms); the confidential few match quickly."""
        everything = self._count_by(field, {})
        for value, count in self._count_by(field, {"confidential": True}).items():
            everything[value] -= count
        return {value: count for value, count in everything.items() if count}

    def _count_by(self, field, match):
        pipeline = ([{"$match": match}] if match else []) + [{"$group": {"_id": f"${field}", "count": {"$sum": 1}}}]
        return {row["_id"]: row["count"] for row in self.db.reports.aggregate(pipeline)}

    def agency_names(self):
        """{agency code: its name as the reports carry it}."""
        pipeline = [{"$group": {"_id": "$agency_code", "name": {"$max": "$agency_name"}}}]
        return {row["_id"]: row["name"] for row in self.db.reports.aggregate(pipeline) if row["_id"]}

    def count_confidential(self):
        return count_matching(self.db.reports, {"confidential": True})

    def stats_snapshot(self):
        """(the public figures last counted, when) or None. Kept as JSON text: the stand-in mangles nested lists."""
        record = self.db.figures.find_one({"_id": PUBLIC_STATS})
        if not record or not record.get("stats_json"):
            return None
        return json.loads(record["stats_json"]), datetime.fromisoformat(record["computed_iso"])

    def save_stats_snapshot(self, stats, computed_at):
        self.db.figures.update_one({"_id": PUBLIC_STATS}, {
            "$set": {"stats_json": json.dumps(stats), "computed_iso": computed_at.isoformat()},
            "$setOnInsert": {"refresh_lease_until": computed_at}}, upsert=True)

    def claim_stats_refresh(self, lease_seconds):
        """One replica recounts at a time: True for the one that took the lease."""
        current = now()
        self.db.figures.update_one({"_id": PUBLIC_STATS}, {"$setOnInsert": {"refresh_lease_until": current}},
                                   upsert=True)
        claimed = self.db.figures.find_one_and_update(
            {"_id": PUBLIC_STATS, "refresh_lease_until": {"$lte": current}},
            {"$set": {"refresh_lease_until": current + timedelta(seconds=lease_seconds)}})
        return claimed is not None

    def release_stats_refresh(self):
        self.db.figures.update_one({"_id": PUBLIC_STATS}, {"$set": {"refresh_lease_until": now()}})


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


def _within_region(code):
    """The filter for a regency/city (18.72) or a whole province (18 and its 18.xx)."""
    if "." in code:
        return {"region_code": code}
    return {"region_code": {"$regex": f"^{re.escape(code)}(\\.|$)"}}


def _combinations(choices):
    """Every {field: value} with one value per listed field ([{}] when nothing is listed)."""
    fields = sorted(choices)
    return [dict(zip(fields, values)) for values in itertools.product(*(choices[field] for field in fields))]


def _newest_first_key(report):
    return report["created_key"]


def _within(at, bounds):
    return all(_COMPARE[op](at, bound) for op, bound in bounds.items())
