"""Notifications' repository: the message outbox (one document per event, recipient and channel), the
deadlines sla announced, and the templates national admins edited."""
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now
from services.common.mongo import Repository, count_matching

PENDING_LEASE_SECONDS = 60
RESENDABLE = ("dead", "failed")


class NotificationsRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.messages.create_index([("tracking_id", ASCENDING), ("created_at", DESCENDING)])
        self.db.messages.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        self.db.messages.create_index([("tracking_id", ASCENDING), ("version", ASCENDING), ("status", ASCENDING)])
        self.db.messages.create_index([("failure_published", ASCENDING), ("failure_lease_until", ASCENDING)])

    # --- the outbox ---------------------------------------------------------------------------------------

    def add_message(self, message, hold_seconds=None):
        """Insert once; False when this key already has its message (a redelivered event).

        A held message waits up to `hold_seconds` for its deadline; a pending one the sending worker did not
        finish (crash, store error) is retried after the lease."""
        wait = hold_seconds if hold_seconds is not None else PENDING_LEASE_SECONDS
        document = dict(message, status="held" if hold_seconds is not None else "pending", attempts=0,
                        created_at=now(), next_attempt_at=now() + timedelta(seconds=wait))
        try:
            self.db.messages.insert_one(document)
            return True
        except DuplicateKeyError:
            return False

    def get_message(self, message_id):
        return self.db.messages.find_one({"_id": message_id})

    def set_text(self, message_id, text):
        """The final text of a held message, once its deadline is known (or waited for long enough)."""
        self.db.messages.update_one({"_id": message_id}, {"$set": {"text": text, "rendered_at": now()}})

    def mark_sent(self, message_id, adapter):
        self.db.messages.update_one(
            {"_id": message_id},
            {"$set": {"status": "sent", "sent_at": now(), "adapter": adapter}, "$inc": {"attempts": 1}},
        )

    def mark_failed(self, message_id, error, retry_in_seconds, dead, failure_event=None, grace_seconds=0):
        """A failed try; a dead message also keeps its `notification_failed` event until it is published."""
        changes = {"status": "dead" if dead else "failed", "last_error": error,
                   "next_attempt_at": now() + timedelta(seconds=retry_in_seconds)}
        if dead:
            changes.update(failure_event=failure_event, failure_published=False, dead_at=now(),
                           failure_lease_until=now() + timedelta(seconds=grace_seconds))
        self.db.messages.update_one({"_id": message_id}, {"$set": changes, "$inc": {"attempts": 1}})

    def claim_retry(self, lease_seconds):
        """The next message due: a failed one, a pending one whose sender vanished, a held one that waited enough.

        A held message is claimed by turning it pending, so a deadline arriving now cannot claim it twice."""
        current = now()
        lease = current + timedelta(seconds=lease_seconds)
        # One status at a time: nx-27017 matches nothing when `$in` meets a datetime range.
        for status in ("failed", "pending", "held"):
            message = self.db.messages.find_one_and_update(
                {"status": status, "next_attempt_at": {"$lt": current}},
                {"$set": {"status": "pending", "next_attempt_at": lease}},
                return_document=ReturnDocument.AFTER,
            )
            if message is not None:
                return message
        return None

    def claim_held(self, tracking_id, version, lease_seconds):
        """A message held for the deadline of entry `version`, claimed for sending now."""
        return self.db.messages.find_one_and_update(
            {"tracking_id": tracking_id, "version": version, "status": "held"},
            {"$set": {"status": "pending", "next_attempt_at": now() + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def claim_for_resend(self, message_id, actor, lease_seconds):
        """A dead or failed message, back to pending with its tries reset; None if it is neither."""
        for status in RESENDABLE:
            message = self.db.messages.find_one_and_update(
                {"_id": message_id, "status": status},
                {"$set": {"status": "pending", "attempts": 0, "resent_by": actor, "resent_at": now(),
                          "next_attempt_at": now() + timedelta(seconds=lease_seconds)}},
                return_document=ReturnDocument.AFTER,
            )
            if message is not None:
                return message
        return None

    def claim_unpublished_failure(self, lease_seconds):
        """A dead message whose `notification_failed` did not go out when it died."""
        return self.db.messages.find_one_and_update(
            {"failure_published": False, "failure_lease_until": {"$lt": now()}},
            {"$set": {"failure_lease_until": now() + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def mark_failure_published(self, message_id):
        self.db.messages.update_one({"_id": message_id}, {"$set": {"failure_published": True}})

    def find_messages(self, tracking_id=None, status=None, channel=None, page=1, per_page=50):
        filters = (("tracking_id", tracking_id), ("status", status), ("channel", channel))
        query = {key: value for key, value in filters if value}
        cursor = self.db.messages.find(query).sort("created_at", DESCENDING).skip((page - 1) * per_page).limit(per_page)
        return list(cursor), count_matching(self.db.messages, query)

    # --- deadlines sla announced ----------------------------------------------------------------------------

    def record_deadline(self, tracking_id, stage, version, due_at):
        """The first due time announced for a clock: the one a disposition message tells."""
        self.db.deadlines.update_one(
            {"_id": f"{tracking_id}:{stage}:{version}"},
            {"$setOnInsert": {"tracking_id": tracking_id, "stage": stage, "version": version, "due_at": due_at}},
            upsert=True,
        )

    def deadline(self, tracking_id, stage, version):
        found = self.db.deadlines.find_one({"_id": f"{tracking_id}:{stage}:{version}"})
        return found["due_at"] if found else None

    # --- templates national admins edited (the defaults live in code) ---------------------------------------

    def template_overrides(self):
        return {(t["name"], t["language"]): t for t in self.db.templates.find({})}

    def template_override(self, name, language):
        return self.db.templates.find_one({"_id": f"{name}:{language}"})

    def save_template(self, name, language, text, actor):
        self.db.templates.update_one(
            {"_id": f"{name}:{language}"},
            {"$set": {"name": name, "language": language, "text": text, "updated_by": actor, "updated_at": now()}},
            upsert=True,
        )

    def delete_template(self, name, language):
        self.db.templates.delete_one({"_id": f"{name}:{language}"})
