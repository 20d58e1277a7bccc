"""Intake: every channel's reports come in here, get a tracking ID and go out as `report_submitted`."""
import json
import logging
import uuid
from datetime import timedelta

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.access_codes import generate_access_code, hash_access_code
from services.common.events import REPORT_SUBMITTED, SCHEMA_VERSION, now
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.common.secrets import Secrets
from services.intake.dependencies import TrackingIds
from services.common.field_errors import flatten_field_errors
from services.intake.domain import idempotency_record_id, request_fingerprint
from services.intake.exceptions import IdempotencyConflict, ValidationFailed
from services.intake.regions import default_matcher
from services.intake.schemas import SmsMessageSchema, SubmissionSchema
from services.intake.sms import parse_sms, portal_hint, sms_reply, sms_submission
from services.intake.storage import IntakeRepository

log = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IntakeService(ObservedService):
    name = "intake"

    storage = MongoStore("lapor_intake", IntakeRepository)
    tracking = TimedRpc("tracking")
    outbox = OutboxDispatcher()
    tracking_ids = TrackingIds()
    secrets = Secrets(needs_pii_key=True)
    config = Config()

    @rpc
    @unavailable_on_store_error
    def submit(self, report, channel="web", idempotency_key=None, client="public"):
        """Validate and store one report; answers {tracking_id, access_code, status} after the write."""
        data = self._load(report)
        if idempotency_key:
            return self._submit_idempotent(report, data, channel, idempotency_key, client)
        tracking_id = self._next_tracking_id()
        return self._store(data, channel, tracking_id, generate_access_code())

    @rpc
    @unavailable_on_store_error
    def submit_sms(self, message):
        """One SMS to 1708 ("KOTA METRO isi aduan") as a complaint: {tracking_id, access_code, reply}.

        Idempotent on `message_id`: the operator's retry gets the same answer; another SMS under the same id
        is refused. An unknown region prefix is still accepted and goes to national verification whole.
        """
        sms = self._load_sms(message)
        data = sms_submission(parse_sms(sms["text"], default_matcher()), sms["sender"], sms.get("received_at"))
        identity = {"from": sms["sender"], "text": sms["text"]}
        try:
            receipt = self._submit_idempotent(identity, data, "sms", sms["message_id"], client="sms")
        except IdempotencyConflict:
            raise IdempotencyConflict("message_id ini sudah dipakai untuk SMS lain.")
        hint = portal_hint(self.config.get("PUBLIC_URL"))
        reply = sms_reply(receipt["tracking_id"], receipt["access_code"], hint)
        return {"tracking_id": receipt["tracking_id"], "access_code": receipt["access_code"], "reply": reply}

    @rpc
    @unavailable_on_store_error
    def contact(self, reporter_ref):
        """The reporter's contact, decrypted, for the services allowed to reach them; None if none."""
        encrypted = self.storage.encrypted_contact(reporter_ref)
        if not encrypted:
            return None
        return json.loads(self.secrets.cipher.decrypt(encrypted.encode()))

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        """Publish what the answering worker could not (broker away, process killed)."""
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished(RELAY_GRACE_SECONDS, RELAY_LEASE_SECONDS),
            publish=lambda submission: self.outbox.publish_now(REPORT_SUBMITTED, submission["event"]),
            mark_published=lambda submission: self.storage.mark_published(submission["_id"]),
        )
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _load(self, report):
        try:
            return SubmissionSchema().load(report)
        except ValidationError as exc:
            raise ValidationFailed("Isian laporan tidak valid.", fields=flatten_field_errors(exc.messages))

    def _load_sms(self, message):
        try:
            return SmsMessageSchema().load(message)
        except ValidationError as exc:
            raise ValidationFailed("Isian SMS tidak valid.", fields=flatten_field_errors(exc.messages))

    def _next_tracking_id(self):
        return self.tracking_ids(self.tracking.reserve_id_block).next()

    def _submit_idempotent(self, report, data, channel, key, client):
        record_id = idempotency_record_id(client, key)
        fingerprint = request_fingerprint(report)
        record = self.storage.find_idempotency(record_id)
        if record is None:
            access_code = generate_access_code()
            candidate = {
                "_id": record_id,
                "fingerprint": fingerprint,
                "tracking_id": self._next_tracking_id(),
                "access_code_encrypted": self.secrets.cipher.encrypt(access_code.encode()).decode(),
                "expires_at": now() + IDEMPOTENCY_WINDOW,
            }
            record = self.storage.claim_idempotency(candidate) or candidate
        if record["fingerprint"] != fingerprint:
            raise IdempotencyConflict("Idempotency-Key ini sudah dipakai untuk isi laporan yang berbeda.")
        access_code = self.secrets.cipher.decrypt(record["access_code_encrypted"].encode()).decode()
        # A replay after a crash between the two writes finishes the submission with the same ID and code.
        return self._store(data, channel, record["tracking_id"], access_code)

    def _store(self, data, channel, tracking_id, access_code):
        submission = self._build_submission(data, channel, tracking_id, access_code)
        if self.storage.insert_submission(submission):
            self.outbox.after_reply(
                REPORT_SUBMITTED, submission["event"], on_published=lambda: self.storage.mark_published(tracking_id)
            )
            self.metrics.counter("lapor_reports_submitted", "Reports accepted", ("channel",)).labels(channel).inc()
        return {"tracking_id": tracking_id, "access_code": access_code, "status": "received"}

    def _build_submission(self, data, channel, tracking_id, access_code):
        submitted_at = now()
        reporter_ref = f"rep_{uuid.uuid4().hex}"
        contact = data.get("reporter") or {}
        event = {
            "event_id": str(uuid.uuid4()),
            "tracking_id": tracking_id,
            "emitted_at": submitted_at,
            "schema": SCHEMA_VERSION,
            "type": data["type"],
            "title": data["title"],
            "body": data["body"],
            "occurred_at": data.get("occurred_at"),
            "location": data.get("location"),
            "category": data.get("category"),
            "agency_code": data.get("agency_code"),
            "channel": channel,
            "region_hint": data.get("region_hint"),
            "anonymous": data["anonymous"],
            "confidential": data["confidential"],
            "reporter_ref": reporter_ref,
            "access_code_hash": hash_access_code(self.secrets.secret_key, access_code),
            "submitted_at": submitted_at,
        }
        return {
            "tracking_id": tracking_id,
            "reporter_ref": reporter_ref,
            "contact_encrypted": self.secrets.cipher.encrypt(json.dumps(contact).encode()).decode() if contact else None,
            "channel": channel,
            "submitted_at": submitted_at,
            "received_at": data.get("received_at"),  # when the SMS gateway got it, for SMS
            "event": event,
        }
