"""Intake's repository over pymongo: submissions (each with its outbox flag), idempotency records, attachments, and
the parts of long SMS from the SMSC."""
import uuid
from datetime import timedelta

import gridfs
from bson import Binary
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now
from services.common.mongo import UNPUBLISHED_GAUGE_CAP, Repository

# GridFS bucket: attachments.files and attachments.chunks. File ids are strings: on nx-27017 equality on an ObjectId
# in any field but _id matches nothing (measured), and chunks are found by `files_id`.
ATTACHMENT_BUCKET = "attachments"


class IntakeRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.submissions.create_index("reporter_ref", unique=True)
        self.db.submissions.create_index([("published", 1), ("relay_lease_until", 1)])
        self.db.idempotency.create_index("expires_at")
        self.db.attachments_meta.create_index("tracking_id")
        self.db.attachment_parts.create_index("upload_id")
        self.db.attachment_parts.create_index("staged_at")
        self.db[f"{ATTACHMENT_BUCKET}.chunks"].create_index([("files_id", 1), ("n", 1)], unique=True)
        self.db.sms_parts.create_index("group_key")
        self.db.sms_parts.create_index("received_at")
        self.db.sms_groups.create_index("claimed_at")

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

    def purge_expired_idempotency(self, current):
        """Records whose window has closed: each holds an encrypted access code no replay may ask for any more."""
        return self.db.idempotency.delete_many({"expires_at": {"$lte": current}}).deleted_count

    # --- attachments: parts staged on their way in, content in GridFS, metadata, per-report totals ---

    def stage_part(self, upload_id, index, data):
        """Keep one part of a file on its way in; a resent part (a retried RPC) holds the same bytes: kept once."""
        try:
            self.db.attachment_parts.insert_one({"_id": f"{upload_id}:{index:03d}", "upload_id": upload_id,
                                                 "index": index, "data": Binary(data), "staged_at": now()})
        except DuplicateKeyError:
            pass

    def staged_parts(self, upload_id):
        """[(index, bytes)] of one upload, in order."""
        parts = self.db.attachment_parts.find({"upload_id": upload_id}).sort("index", 1)
        return [(part["index"], bytes(part["data"])) for part in parts]

    def discard_parts(self, upload_ids):
        self.db.attachment_parts.delete_many({"upload_id": {"$in": list(upload_ids)}})

    def discard_stale_parts(self, staged_before):
        """Parts of uploads never committed (refused before intake saw them all, a gateway gone mid-way)."""
        return self.db.attachment_parts.delete_many({"staged_at": {"$lt": staged_before}}).deleted_count

    # --- long SMS from the SMSC: each part kept before it is acknowledged, a claim on the complete group ---

    def keep_sms_part(self, group_key, seq, total, data_coding, payload):
        """Keep one part; False when it is already kept (the SMSC delivered it again)."""
        try:
            self.db.sms_parts.insert_one({"_id": f"{group_key}:{seq:03d}", "group_key": group_key, "seq": seq,
                                          "total": total, "data_coding": data_coding, "payload": Binary(payload),
                                          "received_at": now()})
        except DuplicateKeyError:
            return False
        return True

    def sms_parts(self, group_key):
        """[(data_coding, octets)] of the group's parts kept so far, in order."""
        parts = self.db.sms_parts.find({"group_key": group_key}).sort("seq", 1)
        return [(part["data_coding"], bytes(part["payload"])) for part in parts]

    def claim_sms_group(self, group_key, seq):
        """The part that answers for a complete group: `seq` if it claims first, else the part that did."""
        try:
            self.db.sms_groups.insert_one({"_id": group_key, "seq": seq, "claimed_at": now()})
            return seq
        except DuplicateKeyError:
            claim = self.db.sms_groups.find_one({"_id": group_key})
            return claim["seq"] if claim is not None else self.claim_sms_group(group_key, seq)

    def discard_stale_sms_parts(self, received_before):
        """Every group with a part kept before `received_before`, all its parts, and claims made before it: how many
        of those groups were never complete."""
        stale = self.db.sms_parts.find({"received_at": {"$lt": received_before}}, {"group_key": 1})
        group_keys = sorted({part["group_key"] for part in stale})
        never_complete = 0
        if group_keys:
            claimed = list(self.db.sms_groups.find({"_id": {"$in": group_keys}}, {"_id": 1}))
            never_complete = len(group_keys) - len(claimed)
            self.db.sms_parts.delete_many({"group_key": {"$in": group_keys}})
        self.db.sms_groups.delete_many({"claimed_at": {"$lt": received_before}})
        return never_complete

    def attachment_totals(self, tracking_id):
        """(count, bytes) of the report's attachments."""
        sizes = [meta["size"] for meta in self.db.attachments_meta.find({"tracking_id": tracking_id}, {"size": 1})]
        return len(sizes), sum(sizes)

    def attachments_of(self, tracking_id):
        """The report's attachments, oldest first."""
        found = self.db.attachments_meta.find({"tracking_id": tracking_id})
        return sorted(found, key=lambda meta: (meta["uploaded_at"], meta["_id"]))

    def find_attachment(self, attachment_id):
        return self.db.attachments_meta.find_one({"_id": attachment_id})

    def store_attachment(self, meta, content):
        """The content into GridFS, then the metadata that makes it visible: (stored metadata, True if new).

        Content first, so a crash in between leaves an unlisted file, never a listed one without bytes. Each
        try writes its own GridFS file, so a concurrent twin (the same file retried) cannot clobber it."""
        bucket = self._bucket()
        file_id = f"{meta['_id']}.{uuid.uuid4().hex[:12]}"
        # No filename: the name as sent can name the reporter, and is kept only encrypted, in the metadata.
        bucket.put(content, _id=file_id,
                   metadata={"tracking_id": meta["tracking_id"], "content_type": meta["content_type"]})
        document = dict(meta, file_id=file_id)
        try:
            self.db.attachments_meta.insert_one(document)
        except DuplicateKeyError:
            bucket.delete(file_id)
            return self.find_attachment(meta["_id"]), False
        return document, True

    def delete_attachment(self, meta):
        """Undo one store (a later file of the same request could not be stored)."""
        self.db.attachments_meta.delete_one({"_id": meta["_id"]})
        self._bucket().delete(meta["file_id"])

    def read_attachment(self, meta, offset, length):
        """`length` bytes of the content from `offset`."""
        grid_out = self._bucket().get(meta["file_id"])
        try:
            grid_out.seek(offset)
            return grid_out.read(length)
        finally:
            grid_out.close()

    def _bucket(self):
        return gridfs.GridFS(self.db, collection=ATTACHMENT_BUCKET)

    # Encrypted fields, for a PII key rotation (services/intake/rotate_pii_key.py).

    ENCRYPTED_FIELDS = (("submissions", "contact_encrypted"), ("idempotency", "access_code_encrypted"),
                        ("attachments_meta", "filename_encrypted"))

    def encrypted_values(self, collection, field):
        """(_id, token) of every document of `collection` with `field` set."""
        for document in self.db[collection].find({}, {field: 1}):
            if document.get(field):
                yield document["_id"], document[field]

    def replace_encrypted(self, collection, document_id, field, old, new):
        """Compare-and-set: `field` becomes `new` only while it still holds `old`; whether it did."""
        return self.db[collection].update_one({"_id": document_id, field: old},
                                              {"$set": {field: new}}).modified_count == 1
