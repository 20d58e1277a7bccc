"""Intake's repository over pymongo: submissions (each with its outbox flag) and idempotency records."""
from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.events import now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository



class IntakeRepository(Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.submissions.create_index("reporter_ref", unique=True)
        self.db.submissions.create_index([("published", 1), ("relay_lease_until", 1)])
        self.db.idempotency.create_index("expires_at")

    def insert_submission(self, submission):
        """Insert once; returns False when a submission with this tracking ID already exists."""
        document = dict(submission, _id=submission["tracking_id"], published=False,
                        relay_lease_until=submission["submitted_at"])
        try:
            self.db.submissions.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    def get_submission(self, tracking_id):
        return self.db.submissions.find_one({"_id": tracking_id})

    def mark_published(self, tracking_id):
        self.db.submissions.update_one({"_id": tracking_id}, {"$set": {"published": True, "published_at": now()}})

    def claim_unpublished(self, grace_seconds, lease_seconds):
        """Atomically lease one submission whose event has not gone out, so relay replicas split the work."""
        current = now()
        return self.db.submissions.find_one_and_update(
            {
                "published": False,
                "submitted_at": {"$lt": current - timedelta(seconds=grace_seconds)},
                "relay_lease_until": {"$lt": current},
            },
            {"$set": {"relay_lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def count_unpublished(self, cap=UNPUBLISHED_GAUGE_CAP):
        """For the outbox gauge: an indexed find, capped (a count would scan the whole collection on nx-27017)."""
        return len(list(self.db.submissions.find({"published": False}, {"_id": 1}).limit(cap)))

    def encrypted_contact(self, reporter_ref):
        document = self.db.submissions.find_one({"reporter_ref": reporter_ref}, {"contact_encrypted": 1})
        return document.get("contact_encrypted") if document else None

    def find_idempotency(self, record_id):
        record = self.db.idempotency.find_one({"_id": record_id})
        if record is None or record["expires_at"] <= now():
            return None
        return record

    def claim_idempotency(self, record):
        """Insert the record, or return the live one already holding this key."""
        try:
            self.db.idempotency.insert_one(record)
            return None
        except DuplicateKeyError:
            existing = self.find_idempotency(record["_id"])
            if existing is None:  # an expired record: the key is free again
                self.db.idempotency.delete_one({"_id": record["_id"], "expires_at": {"$lte": now()}})
                return self.claim_idempotency(record)
            return existing
