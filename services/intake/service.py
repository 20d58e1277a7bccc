"""Intake: every channel's reports come in here, get a tracking ID and go out as `report_submitted`."""
import json
import logging
import uuid
from datetime import timedelta

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from services.common.entrypoints import rpc
from nameko.timer import timer
from pymongo.errors import PyMongoError

from services.common.access_codes import generate_access_code, hash_access_code
from services.common.caller import GATEWAY, BrokerUser, Caller, government_client
from services.common.errors import LaporError
from services.common.events import REPORT_SUBMITTED, SCHEMA_VERSION, now
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.common.secrets import Secrets
from services.intake.attachment_rpc import AttachmentRpc, submission_identity
from services.intake.dependencies import TrackingIds
from services.common.field_errors import flatten_field_errors, translate_message
from services.intake import domain
from services.intake.domain import idempotency_record_id, load_categories, request_fingerprint
from services.intake.exceptions import IdempotencyConflict, Unavailable, ValidationFailed
from services.common.regions import default_matcher
from services.intake.schemas import CHANNELS, ExternalRefSchema, SmsMessageSchema, SubmissionSchema, TweetSchema
from services.intake.sms import parse_sms, portal_hint, sms_reply, sms_submission
from services.intake.smpp import MESSAGES_METRIC, smpp_deliver
from services.intake.smpp_pdu import PARTS_TIMEOUT_SECONDS, group_key, group_text, sms_message
from services.intake.twitter import is_report_mention, normalize_account, parse_tweet, tweet_reply, tweet_submission
from services.intake.storage import IntakeRepository

log = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
IDEMPOTENCY_PURGE_INTERVAL_SECONDS = 3600
SMS_PARTS_SWEEP_INTERVAL_SECONDS = 300
MAX_BATCH = 100  # reports per submit_many call: one call stays well inside the caller's RPC timeout
NOT_A_MENTION = {"id": "Tweet ini tidak menyebut akun LAPOR.", "en": "This tweet does not mention the LAPOR account."}


def _item_error(exc):
    return {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}


class IntakeService(AttachmentRpc, ObservedService):
    name = "intake"

    storage = MongoStore("lapor_intake", IntakeRepository)
    tracking = TimedRpc("tracking")
    outbox = OutboxDispatcher()
    tracking_ids = TrackingIds()
    secrets = Secrets(needs_pii_key=True)
    config = Config()
    broker_user = BrokerUser()
    # A reporter's contact goes to the services that reach them, or show it to a national admin, only.
    caller = Caller(claimants=("tracking", "notifications"))
    # Attachments (a confidential report's photos and scans, names as sent) go to and come from the gateway only.
    attachment_caller = Caller(claimants=(GATEWAY,))

    @rpc
    @unavailable_on_store_error
    def submit(self, report, channel="web", idempotency_key=None, client="public", external_ref=None,
               attachments=None):
        """Validate and store one report; answers {tracking_id, access_code, status} after the write.

        `external_ref` is for other government systems calling over RPC (never from the HTTP body): their own
        reference, an idempotency key scoped to `client`, so a resend within 24 hours gets the same answer.
        `attachments`: files staged with `stage_attachment_part`, as for `add_attachments`; checked before
        anything is written and stored before the report, so it never appears without them. The answer then
        carries `attachments` too.
        """
        data = self._load(report, external_ref)
        if attachments:
            data = dict(data, attachments=self._checked_files(attachments))
        identity = submission_identity(report, attachments)
        return self._accept(identity, data, channel, client, idempotency_key, external_ref)

    @rpc
    @unavailable_on_store_error
    def submit_many(self, reports, client="rpc"):
        """Up to 100 reports from another government system; one result per item, in order.

        Each is {index, tracking_id, access_code, status} or {index, error: {code, message, fields}}: a bad item
        does not stop the rest. An item's `external_ref` makes it idempotent, like `submit(external_ref=...)`.
        The request must carry its AMQP `user_id`; a government system's (gov-<name>) is the `client`, whatever
        the call names (services/common/caller.py).
        """
        client = government_client(self.broker_user, client)
        if not isinstance(reports, list) or len(reports) > MAX_BATCH:
            raise ValidationFailed(f"Kirim daftar berisi paling banyak {MAX_BATCH} laporan per panggilan.", fields={
                "reports": [{"id": f"Harus berupa daftar berisi paling banyak {MAX_BATCH} laporan.",
                             "en": f"Must be a list of at most {MAX_BATCH} reports."}]})
        results, unavailable = [], None
        for index, item in enumerate(reports):
            # Once the store or tracking is away, the rest are not tried: each says so, and the caller resends them.
            result = unavailable or self._submit_item(item, client)
            if result.get("error", {}).get("code") == Unavailable.code:
                unavailable = result
            results.append(dict(result, index=index))
        return results

    @rpc
    @unavailable_on_store_error
    def submit_sms(self, message):
        """One SMS to 1708 ("KOTA METRO isi aduan") as a complaint: {tracking_id, access_code, reply}.

        Idempotent on `message_id`: the operator's retry gets the same answer; another SMS under the same id
        is refused. An unknown region prefix is still accepted and goes to national verification whole.
        """
        return self._accept_sms(message)

    @smpp_deliver
    @unavailable_on_store_error
    def on_deliver_sm(self, message):
        """One SMS to 1708 straight from the operator's SMSC (services/intake/smpp.py, on when
        SMPP_RECEIVER_HOST is set): the same as `submit_sms`; the entrypoint sends `reply` back to the sender and
        acknowledges the deliver_sm only once this has returned. A part of a long SMS is stored first (see
        `_accept_sms_part`)."""
        if "part" in message:
            return self._accept_sms_part(message)
        return self._accept_sms(message)

    @rpc
    @unavailable_on_store_error
    def submit_tweet(self, event):
        """One mention of the LAPOR account (a `tweet_create_events` item) as a complaint: {tracking_id,
        access_code, reply}. The reply is public, so it carries the tracking ID only; the caller must not post
        the access code (it goes by direct message).

        Idempotent on the tweet id: Twitter's redelivery gets the same answer. The account's own tweets,
        retweets and tweets that do not mention it are refused (the gateway never sends them).
        """
        tweet = self._load_tweet(event)
        data = tweet_submission(tweet)
        identity = {"tweet_id": tweet["tweet_id"], "handle": tweet["handle"], "body": tweet["body"]}
        try:
            receipt = self._submit_idempotent(identity, data, "twitter", tweet["tweet_id"], client="twitter")
        except IdempotencyConflict:
            raise IdempotencyConflict("Tweet ini sudah tercatat dengan isi yang berbeda.")
        reply = tweet_reply(tweet["handle"], receipt["tracking_id"], portal_hint(self.config.get("PUBLIC_URL")))
        return {"tracking_id": receipt["tracking_id"], "access_code": receipt["access_code"], "reply": reply}

    @rpc
    def categories(self):
        """The LAPOR categories a report may name, by group, with their Open311 attributes (data/categories.json)."""
        return load_categories()

    @rpc
    @unavailable_on_store_error
    def contact(self, reporter_ref):
        """The reporter's contact, decrypted, for the services allowed to reach them; None if none."""
        self.caller.require()
        encrypted = self.storage.encrypted_contact(reporter_ref)
        if not encrypted:
            return None
        return json.loads(self.secrets.cipher.decrypt(encrypted.encode()))

    @timer(interval=IDEMPOTENCY_PURGE_INTERVAL_SECONDS)
    def purge_idempotency(self):
        """Forget Idempotency-Keys (and the access codes they keep for replays) once their 24 hours are over."""
        removed = self.storage.purge_expired_idempotency(now())
        if removed:
            log.info("purged %s expired idempotency records", removed)

    @timer(interval=SMS_PARTS_SWEEP_INTERVAL_SECONDS)
    def sweep_sms_parts(self):
        """Drop the parts of long SMS from the SMSC whose other parts did not come within the hour."""
        expired = self.storage.discard_stale_sms_parts(now() - timedelta(seconds=PARTS_TIMEOUT_SECONDS))
        if expired:
            log.info("dropped the parts of %s long SMS never completed", expired)
            self.metrics.counter(*MESSAGES_METRIC).labels("parts_expired").inc(expired)

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        """Publish what the answering worker could not (broker away, process killed)."""
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished(RELAY_GRACE_SECONDS, RELAY_LEASE_SECONDS),
            publish=lambda submission: self.outbox.publish_now(REPORT_SUBMITTED, submission["event"]),
            mark_published=lambda submission: self.storage.mark_published(submission["_id"]),
        )
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _load(self, report, external_ref=None):
        """The validated report; the external reference's errors are reported beside the report's own."""
        errors = {}
        if external_ref is not None:
            try:
                ExternalRefSchema().load({"external_ref": external_ref})
            except ValidationError as exc:
                errors.update(flatten_field_errors(exc.messages))
        try:
            data = SubmissionSchema().load(report)
        except ValidationError as exc:
            errors.update(flatten_field_errors(exc.messages))
        if errors:
            raise ValidationFailed("Isian laporan tidak valid.", fields=errors)
        return data

    def _submit_item(self, item, client):
        """One item of submit_many: its receipt, or its error instead of an exception."""
        report, external_ref = item, None
        if isinstance(item, dict):
            report = dict(item)
            external_ref = report.pop("external_ref", None)
        try:
            data = self._load(report, external_ref)
            return self._accept(report, data, "rpc", client, None, external_ref)
        except PyMongoError as exc:
            log.error("store error in submit_many: %s", exc)
            return _item_error(Unavailable("penyimpanan data tidak tersedia"))
        except LaporError as exc:
            return _item_error(exc)

    def _accept(self, report, data, channel, client, idempotency_key=None, external_ref=None):
        """Store a validated report once per key: the caller's external reference, an Idempotency-Key, or none."""
        if channel not in CHANNELS:
            raise ValidationFailed("Kanal tidak dikenal.", fields={"channel": [translate_message(
                f"Must be one of: {', '.join(CHANNELS)}.")]})
        if client != "public":
            data = dict(data, submitted_by=client)  # a government system may read back what it submitted
        if external_ref is not None:
            if idempotency_key:
                raise ValidationFailed("Pakai external_ref atau Idempotency-Key, bukan keduanya.")
            try:
                return self._submit_idempotent(report, data, channel, external_ref, f"external_ref/{client}")
            except IdempotencyConflict:
                raise IdempotencyConflict("external_ref ini sudah dipakai untuk laporan dengan isi yang berbeda.")
        if idempotency_key:
            return self._submit_idempotent(report, data, channel, idempotency_key, client)
        return self._store(data, channel, self._next_tracking_id(), generate_access_code())

    def _accept_sms(self, message):
        """An SMS as a report, idempotent on its message_id: shared by the RPC and the SMSC entrypoint."""
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

    def _accept_sms_part(self, message):
        """One part of a long SMS, stored before the SMSC hears it arrived; None (no reply) while parts are missing.

        The part that first claims the complete group submits the whole text as one SMS; its redelivery submits it
        again and gets the same report and reply. Any other part (redelivered, or completing the group at the same
        moment) is acknowledged without a reply, so the sender hears once. The parts stay until the sweep, for that
        redelivery."""
        part = message["part"]
        key = group_key(self.secrets.secret_key, message["from"], part["ref"], part["total"])
        self.storage.keep_sms_part(key, part["seq"], part["total"], part["data_coding"], part["payload"])
        parts = self.storage.sms_parts(key)
        if len(parts) < part["total"] or self.storage.claim_sms_group(key, part["seq"]) != part["seq"]:
            return None
        return self._accept_sms(sms_message(message["from"], group_text(parts), message["received_at"]))

    def _load_sms(self, message):
        try:
            return SmsMessageSchema().load(message)
        except ValidationError as exc:
            raise ValidationFailed("Isian SMS tidak valid.", fields=flatten_field_errors(exc.messages))

    def _load_tweet(self, event):
        """The mention, parsed (see twitter.parse_tweet); ValidationFailed for a malformed or unfit tweet."""
        try:
            loaded = TweetSchema().load(event)
        except ValidationError as exc:
            raise ValidationFailed("Isian tweet tidak valid.", fields=flatten_field_errors(exc.messages))
        account = normalize_account(self.config.get("TWITTER_ACCOUNT"))
        if not is_report_mention(loaded, account):
            raise ValidationFailed("Tweet ini bukan mention ke akun LAPOR (atau tweet akun itu sendiri, atau retweet).",
                                   fields={"entities.user_mentions": [NOT_A_MENTION]})
        try:
            return parse_tweet(loaded, account, default_matcher())
        except ValueError:  # nothing left once the mention and hashtags are gone
            raise ValidationFailed("Tweet ini tidak berisi laporan.", fields={"text": [translate_message(
                "May not be blank.")]})

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
        stored_attachments = self._attach_submitted(tracking_id, data)
        if self.storage.insert_submission(submission):
            self.outbox.after_reply(
                REPORT_SUBMITTED, submission["event"], on_published=lambda: self.storage.mark_published(tracking_id)
            )
            self.metrics.counter("lapor_reports_submitted", "Reports accepted", ("channel",)).labels(channel).inc()
        elif not domain.same_submission(self.storage.get_submission(tracking_id), submission):
            # The ID is taken by another report: never hand out a receipt for a report that is not stored.
            log.error("tracking ID %s already holds another submission; this one is refused", tracking_id)
            raise Unavailable("Laporan belum tersimpan; silakan kirim ulang.")
        receipt = {"tracking_id": tracking_id, "access_code": access_code, "status": "received"}
        if stored_attachments is not None:
            receipt["attachments"] = stored_attachments
        return receipt

    def _attach_submitted(self, tracking_id, data):
        """The files sent with a report, stored under its new tracking ID (a replay finds them there already)."""
        if not data.get("attachments"):
            return None
        submitted_by = data.get("submitted_by")
        uploader = {"role": "api_client", "username": submitted_by} if submitted_by else {"role": "reporter"}
        return self._attach(tracking_id, data["attachments"], uploader)

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
            "submitted_by": data.get("submitted_by"),
        }
        return {
            "tracking_id": tracking_id,
            "reporter_ref": reporter_ref,
            "contact_encrypted": self.secrets.cipher.encrypt(json.dumps(contact).encode()).decode() if contact else None,
            "channel": channel,
            "submitted_at": submitted_at,
            "received_at": data.get("received_at"),  # when the channel got it: the SMS gateway, the tweet
            "event": event,
        }
