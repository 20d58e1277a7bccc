"""Routing's repository: agencies (the hierarchy), regions (the gazetteer) and triage results."""
import re

from pymongo import ASCENDING, UpdateOne

from services.common.events import now
from services.common.mongo import Repository
from services.routing.domain import LOCAL_GOVERNMENT_KINDS


def _contains(text):
    return {"$regex": re.escape(text), "$options": "i"}


class RoutingRepository(Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.agencies.create_index("parent_code")
        self.db.agencies.create_index("region_code")
        self.db.regions.create_index([("level", ASCENDING), ("parent_code", ASCENDING)])

    def upsert_agencies(self, agencies):
        self._upsert_all(self.db.agencies, agencies)

    def upsert_regions(self, regions):
        self._upsert_all(self.db.regions, regions)

    def _upsert_all(self, collection, records):
        operations = [UpdateOne({"_id": r["code"]}, {"$set": dict(r, updated_at=now())}, upsert=True) for r in records]
        if operations:
            collection.bulk_write(operations, ordered=False)

    def agency(self, code):
        return self.db.agencies.find_one({"_id": code}, {"_id": 0, "updated_at": 0})

    def find_agencies(self, q=None, parent_code=None):
        query = {}
        if q:
            query["name"] = _contains(q)
        if parent_code:
            query["parent_code"] = parent_code
        return list(self.db.agencies.find(query, {"_id": 0, "updated_at": 0}).sort("code", ASCENDING))

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
            {"region_code": region_code, "kind": {"$in": list(LOCAL_GOVERNMENT_KINDS)}}, {"_id": 0, "updated_at": 0}
        )

    def count_regions(self, level):
        return self.db.regions.count_documents({"level": level})

    def count_agencies(self, kind=None):
        return self.db.agencies.count_documents({"kind": kind} if kind else {})

    def save_triage(self, result):
        """Keep the first triage per report: a redelivered `opened` does not redo it."""
        self.db.triage.update_one(
            {"_id": result["tracking_id"]}, {"$setOnInsert": dict(result, at=now())}, upsert=True
        )

    def triage_of(self, tracking_id):
        return self.db.triage.find_one({"_id": tracking_id}, {"_id": 0})
