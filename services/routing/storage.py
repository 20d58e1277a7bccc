"""Routing's repository: agencies (the hierarchy), regions (the gazetteer), triage results, the index of
triaged reports (duplicates, the verification queue), training examples, the learned model and its lease."""
import re
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now
from services.common.mongo import Repository, count_matching
from services.routing.domain import LOCAL_GOVERNMENT_KINDS

# Statuses in which a report still waits for a national admin, and those in which it is no longer open.
QUEUED_STATUSES = ("received", "verified")
CLOSED_STATUSES = ("completed", "rejected", "archived")
MODEL_ID = "triage"
OPEN_REPORTS_LIMIT = 200


# An agency as everyone sees it: its contact channels are notifications' business only.
AGENCY_FIELDS = {"_id": 0, "updated_at": 0, "contacts": 0}


def _contains(text):
    return {"$regex": re.escape(text), "$options": "i"}


class RoutingRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.agencies.create_index("parent_code")
        self.db.agencies.create_index("region_code")
        self.db.regions.create_index([("level", ASCENDING), ("parent_code", ASCENDING)])
        self.db.report_index.create_index([("region_code", ASCENDING), ("open", ASCENDING), ("opened_at", ASCENDING)])
        self.db.report_index.create_index("queued")
        self.db.training_examples.create_index("at")

    def upsert_agencies(self, agencies):
        self._upsert_all(self.db.agencies, agencies)

    def upsert_regions(self, regions):
        self._upsert_all(self.db.regions, regions)

    def _upsert_all(self, collection, records):
        operations = [UpdateOne({"_id": r["code"]}, {"$set": dict(r, updated_at=now())}, upsert=True) for r in records]
        if operations:
            collection.bulk_write(operations, ordered=False)

    def agency(self, code):
        return self.db.agencies.find_one({"_id": code}, AGENCY_FIELDS)

    def agency_contacts(self, code):
        """{email, webhook_url, webhook_secret_ref} where notifications reaches an agency; None if unknown."""
        found = self.db.agencies.find_one({"_id": code}, {"contacts": 1})
        return (found.get("contacts") or {}) if found else None

    def set_agency_contacts(self, code, contacts):
        """Replace an agency's contacts (seeding and re-seeding leave them alone); False if unknown."""
        return self.db.agencies.update_one({"_id": code}, {"$set": {"contacts": contacts}}).matched_count == 1

    def insert_agency(self, agency, contacts=None):
        """Add a new agency (a unit); False when its code is taken. Seeding's upserts never replace it."""
        try:
            self.db.agencies.insert_one(dict(agency, _id=agency["code"], contacts=contacts or {}, updated_at=now()))
        except DuplicateKeyError:
            return False
        return True

    def existing_agency_codes(self, codes):
        """Those of `codes` that name a known agency."""
        return {found["_id"] for found in self.db.agencies.find({"_id": {"$in": list(codes)}}, {"_id": 1})}

    def find_agencies(self, q=None, parent_code=None):
        query = {}
        if q:
            query["name"] = _contains(q)
        if parent_code:
            query["parent_code"] = parent_code
        return list(self.db.agencies.find(query, AGENCY_FIELDS).sort("code", ASCENDING))

    def find_regions(self, q=None, level=None, parent_code=None):
        query = {}
        if q:
            query["name"] = _contains(q)
        if level:
            query["level"] = level
        if parent_code:
            query["parent_code"] = parent_code
        return list(self.db.regions.find(query, {"_id": 0, "updated_at": 0}).sort("code", ASCENDING))

    def units_under(self, agency_code):
        """Every unit below an agency, level by level (units may have sub-units)."""
        found, parents = [], [agency_code]
        while parents:
            children = [a["code"] for a in self.db.agencies.find(
                {"parent_code": {"$in": parents}, "kind": "unit"}, {"code": 1})]
            parents = [code for code in children if code not in found and code != agency_code]  # a cycle ends here
            found.extend(parents)
        return found

    def local_government(self, region_code):
        """The government (province, regency or city) of a region, if the region is known."""
        return self.db.agencies.find_one(
            {"region_code": region_code, "kind": {"$in": list(LOCAL_GOVERNMENT_KINDS)}}, AGENCY_FIELDS
        )

    def count_regions(self, level):
        return count_matching(self.db.regions, {"level": level})

    def count_agencies(self, kind=None):
        return count_matching(self.db.agencies, {"kind": kind} if kind else {})

    def save_triage(self, result):
        """Keep the first triage per report (a redelivered `opened` does not redo it); returns the one kept."""
        self.db.triage.update_one(
            {"_id": result["tracking_id"]}, {"$setOnInsert": dict(_flat_triage(result), at=now())}, upsert=True
        )
        return self.triage_of(result["tracking_id"])

    def triage_of(self, tracking_id):
        stored = self.db.triage.find_one({"_id": tracking_id}, {"_id": 0})
        return _nested_triage(stored) if stored is not None else None

    # --- the index of triaged reports: duplicates look here, and the verification queue is counted here ---

    def index_report(self, tracking_id, region_code, text, confidential, opened_at):
        """What duplicate detection needs of a newly triaged report (its status comes from `record_status`)."""
        self.record_status(tracking_id, 1, "received")
        self.db.report_index.update_one({"_id": tracking_id}, {"$set": {
            "region_code": region_code, "text": text, "confidential": bool(confidential), "opened_at": opened_at,
        }})

    def record_status(self, tracking_id, version, status):
        """A report's status as of `version`; an older event than the one applied changes nothing."""
        fields = {"status": status, "version": version, "queued": status in QUEUED_STATUSES,
                  "open": status not in CLOSED_STATUSES}
        try:
            self.db.report_index.update_one(
                {"_id": tracking_id, "version": {"$lt": version}}, {"$set": fields}, upsert=True)
        except DuplicateKeyError:
            pass  # the report is indexed with a newer version already

    def open_reports(self, region_code, since, limit=OPEN_REPORTS_LIMIT):
        """Open, non-confidential reports of a region opened since `since`, newest first: [{tracking_id, text, at}]."""
        found = self.db.report_index.find(
            {"region_code": region_code, "open": True, "opened_at": {"$gte": since}},
            {"text": 1, "opened_at": 1, "confidential": 1},
        ).sort("opened_at", DESCENDING).limit(limit)
        return [{"tracking_id": doc["_id"], "text": doc.get("text") or "", "at": doc["opened_at"]}
                for doc in found if not doc.get("confidential")]

    def indexed_report(self, tracking_id):
        return self.db.report_index.find_one({"_id": tracking_id})

    def count_queued(self):
        return count_matching(self.db.report_index, {"queued": True})

    # --- learning from national admins' dispositions ---

    def save_training_example(self, tracking_id, text, target, agency_code):
        """One example per report: a later disposition of the same report (after a decline) replaces it."""
        self.db.training_examples.update_one({"_id": tracking_id}, {"$set": {
            "text": text, "target": target, "agency_code": agency_code, "at": now(),
        }}, upsert=True)

    def training_examples(self):
        return list(self.db.training_examples.find({}, {"_id": 0, "text": 1, "target": 1, "agency_code": 1}))

    def latest_example_at(self):
        latest = self.db.training_examples.find_one({}, {"at": 1}, sort=[("at", DESCENDING)])
        return latest["at"] if latest else None

    def save_model(self, blob, **details):
        """Store a newly trained model as the next version; returns that version."""
        current = self.model_version()
        version = (current["version"] if current else 0) + 1
        self.db.models.update_one({"_id": MODEL_ID}, {"$set": dict(details, blob=blob, version=version,
                                                                    trained_at=now())}, upsert=True)
        return version

    def model_version(self):
        """{version, trained_at, examples, sklearn_version} of the stored model, without its bytes; None before one."""
        return self.db.models.find_one({"_id": MODEL_ID},
                                       {"version": 1, "trained_at": 1, "examples": 1, "sklearn_version": 1})

    def model(self):
        return self.db.models.find_one({"_id": MODEL_ID})

    # --- routing rules: category -> target, one document per saved version, never changed afterwards ---

    def routing_rules(self):
        """The current (highest) saved version {version, rules: {category: target}, saved_by, saved_at}; None
        before the first save (the taxonomy's own targets then apply)."""
        return self.db.routing_rules.find_one({}, {"_id": 0}, sort=[("version", DESCENDING)])

    def routing_rules_version(self):
        current = self.db.routing_rules.find_one({}, {"version": 1}, sort=[("version", DESCENDING)])
        return current["version"] if current else 0

    def save_routing_rules(self, rules, saved_by):
        """Insert the next version; None when another save took that version first (nothing is written)."""
        version = self.routing_rules_version() + 1
        document = {"version": version, "rules": rules, "saved_by": saved_by, "saved_at": now()}
        try:
            self.db.routing_rules.insert_one(dict(document, _id=version))
        except DuplicateKeyError:
            return None
        return document

    def routing_rules_history(self):
        return list(self.db.routing_rules.find({}, {"_id": 0}).sort("version", DESCENDING))

    def claim_lease(self, name, holder, seconds):
        """True when `holder` now holds the lease `name` for `seconds` (no one else held an unexpired one)."""
        at = now()
        try:
            lease = self.db.leases.find_one_and_update(
                {"_id": name, "until_at": {"$lt": at}},
                {"$set": {"holder": holder, "until_at": at + timedelta(seconds=seconds)}},
                upsert=True, return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # held by someone else: the upsert collided with their lease
            return False
        return lease is not None and lease.get("holder") == holder

    def release_lease(self, name, holder):
        self.db.leases.update_one({"_id": name, "holder": holder}, {"$set": {"until_at": now() - timedelta(seconds=1)}})


def _flat_triage(result):
    """The stored form: no arrays of sub-documents (DESIGN §6), so candidates and hints are kept flat."""
    flat = {key: value for key, value in result.items() if key not in ("candidates", "out_of_scope", "text")}
    candidates = result.get("candidates") or []
    flat["candidate_agencies"] = [candidate["agency"] for candidate in candidates]
    flat["candidate_scores"] = [candidate["score"] for candidate in candidates]
    hints = result.get("out_of_scope") or []
    flat["out_of_scope_reasons"] = [hint["reason"] for hint in hints]
    flat["out_of_scope_words"] = {hint["reason"]: list(hint["words"]) for hint in hints}
    return flat


def _nested_triage(stored):
    record = {key: value for key, value in stored.items() if key not in (
        "candidate_agencies", "candidate_scores", "out_of_scope_reasons", "out_of_scope_words")}
    record["candidates"] = [{"agency": agency, "score": score} for agency, score in zip(
        stored.get("candidate_agencies") or [], stored.get("candidate_scores") or [])]
    words = stored.get("out_of_scope_words") or {}
    record["out_of_scope"] = [{"reason": reason, "words": list(words.get(reason) or [])}
                              for reason in stored.get("out_of_scope_reasons") or []]
    return record
