"""Notifications' repository: the message outbox, one document per (entry, audience, channel)."""
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.events import now
from services.common.mongo import Repository


PENDING_LEASE_SECONDS = 60


class NotificationsRepository(Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.messages.create_index([("tracking_id", ASCENDING), ("created_at", DESCENDING)])
        self.db.messages.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])

    def add_message(self, message):
        """Insert once; False when this entry already has its message (a redelivered event)."""
        # A pending message the sending worker did not finish (crash, store error) is retried after the lease.
        document = dict(message, status="pending", attempts=0, created_at=now(),
                        next_attempt_at=now() + timedelta(seconds=PENDING_LEASE_SECONDS))
        try:
            self.db.messages.insert_one(document)
            return True
        except DuplicateKeyError:
            return False

    def get_message(self, message_id):
        return self.db.messages.find_one({"_id": message_id})

    def mark_sent(self, message_id, adapter):
        self.db.messages.update_one(
            {"_id": message_id},
            {"$set": {"status": "sent", "sent_at": now(), "adapter": adapter}, "$inc": {"attempts": 1}},
        )

    def mark_failed(self, message_id, error, retry_in_seconds, dead):
        self.db.messages.update_one(
            {"_id": message_id},
            {
                "$set": {
                    "status": "dead" if dead else "failed",
                    "last_error": error,
                    "next_attempt_at": now() + timedelta(seconds=retry_in_seconds),
                },
                "$inc": {"attempts": 1},
            },
        )

    def claim_retry(self, lease_seconds):
        current = now()
        # One status at a time: nx-27017 matches nothing when `$in` meets a datetime range.
        for status in ("failed", "pending"):
            message = self.db.messages.find_one_and_update(
                {"status": status, "next_attempt_at": {"$lt": current}},
                {"$set": {"next_attempt_at": current + timedelta(seconds=lease_seconds)}},
                return_document=ReturnDocument.AFTER,
            )
            if message is not None:
                return message
        return None

    def find_messages(self, tracking_id=None, status=None, channel=None, page=1, per_page=50):
        query = {key: value for key, value in (("tracking_id", tracking_id), ("status", status), ("channel", channel)) if value}
        cursor = self.db.messages.find(query).sort("created_at", DESCENDING).skip((page - 1) * per_page).limit(per_page)
        return list(cursor), self.db.messages.count_documents(query)
