"""Notifications: tells reporters (and later agencies) what happened, once per timeline entry."""
import logging

from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.events import NOTIFICATION_FAILED, REPORT_UPDATED, SCHEMA_VERSION, new_envelope
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import OutboxDispatcher
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.notifications import domain
from services.notifications.adapters import make_adapter
from services.notifications.storage import NotificationsRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RETRY_INTERVAL_SECONDS = 10
RETRY_LEASE_SECONDS = 60


class NotificationsService(ObservedService):
    name = "notifications"

    storage = MongoStore("lapor_notifications", NotificationsRepository)
    intake = TimedRpc("intake")
    outbox = OutboxDispatcher()
    config = Config()

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        # Every entry is its own message, so an older entry arriving late is still told.
        rendered = domain.reporter_message(event, self.config.get("PUBLIC_URL", "http://127.0.0.1:8000"))
        if rendered is None or not event.get("reporter_ref"):
            return
        contact = self.intake.contact(event["reporter_ref"])
        template, text = rendered
        for channel, recipient in domain.reporter_deliveries(event.get("channel"), contact):
            message_id = domain.message_id(event["tracking_id"], event["version"], "reporter", channel)
            message = {
                "_id": message_id, "tracking_id": event["tracking_id"], "version": event["version"],
                "audience": "reporter", "reporter_ref": event["reporter_ref"], "channel": channel,
                "recipient_masked": domain.mask_recipient(recipient), "template": template, "text": text,
            }
            if self.storage.add_message(message):
                self._deliver(self.storage.get_message(message_id), recipient)

    @rpc
    @unavailable_on_store_error
    def send_access_code(self, tracking_id, reporter_ref, channel, access_code):
        """Send a reissued access code to the contact on file; the kept message has the code masked.

        False (and nothing kept) when there is no contact to send it to."""
        contact = self.intake.contact(reporter_ref) if reporter_ref else None
        deliveries = domain.reporter_deliveries(channel, contact)
        text, kept_text = domain.access_code_texts(tracking_id, access_code)
        for delivery_channel, recipient in deliveries:
            message_id = domain.access_code_message_id(tracking_id, delivery_channel)
            message = {
                "_id": message_id, "tracking_id": tracking_id, "version": None, "audience": "reporter",
                "reporter_ref": reporter_ref, "channel": delivery_channel,
                "recipient_masked": domain.mask_recipient(recipient), "template": domain.ACCESS_CODE_TEMPLATE,
                "text": kept_text, "secret": True,
            }
            if self.storage.add_message(message):
                self._deliver(self.storage.get_message(message_id), recipient, text=text)
        return bool(deliveries)

    @rpc
    @unavailable_on_store_error
    def messages(self, tracking_id=None, status=None, channel=None, page=1, per_page=50):
        found, total = self.storage.find_messages(tracking_id, status, channel, page, per_page)
        items = [
            {
                "id": m["_id"], "tracking_id": m["tracking_id"], "channel": m["channel"],
                "recipient": m["recipient_masked"], "template": m["template"], "text": m["text"],
                "status": m["status"], "attempts": m["attempts"], "created_at": m["created_at"].isoformat(),
            }
            for m in found
        ]
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    @timer(interval=RETRY_INTERVAL_SECONDS)
    def retry_failed(self):
        while True:
            message = self.storage.claim_retry(RETRY_LEASE_SECONDS)
            if message is None:
                return
            if message.get("secret"):
                # The access code is not kept, so it cannot be sent again; the reporter may ask for another.
                self._fail(message, "access code not kept for a resend", dead=True)
                continue
            recipients = dict(domain.reporter_deliveries(message["channel"], self.intake.contact(message["reporter_ref"])))
            recipient = recipients.get(message["channel"])
            if recipient is None:
                self._fail(message, "no contact on file for this channel", dead=True)
            else:
                self._deliver(message, recipient)

    def _deliver(self, message, recipient, text=None):
        """Send `text` (default: the kept text; a secret's clear text is never kept) through the adapter."""
        adapter = make_adapter(self.config.get("NOTIFY_ADAPTER", "log"))
        try:
            result = adapter.send(message["channel"], recipient, message["recipient_masked"], text or message["text"])
        except Exception as exc:  # noqa: BLE001 - any adapter failure is retried, then dead-lettered
            # Only the error's type: an SMTP/SMPP error text can contain the recipient (DESIGN §2).
            log.warning("delivery of %s failed: %s", message["_id"], type(exc).__name__)
            self._fail(message, type(exc).__name__, dead=message["attempts"] + 1 >= MAX_ATTEMPTS)
            return
        self.storage.mark_sent(message["_id"], result["adapter"])
        self.metrics.counter("lapor_notifications_sent", "Messages sent", ("channel",)).labels(message["channel"]).inc()

    def _fail(self, message, error, dead):
        retry_in = RETRY_BASE_SECONDS * 2 ** message["attempts"]
        self.storage.mark_failed(message["_id"], error, retry_in, dead)
        outcome = "dead" if dead else "failed"
        self.metrics.counter("lapor_notifications_failed", "Messages not sent", ("channel", "outcome")).labels(
            message["channel"], outcome
        ).inc()
        if dead:
            event = dict(new_envelope(message["tracking_id"]), outbox_id=message["_id"],
                         channel=message["channel"], reason=error, schema=SCHEMA_VERSION)
            self.outbox.after_reply(NOTIFICATION_FAILED, event)
