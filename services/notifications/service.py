"""Notifications: tells reporters and agencies what happened, once per event, recipient and channel."""
import logging

import eventlet
from nameko.dependency_providers import Config
from nameko.events import event_handler
from services.common.entrypoints import rpc
from nameko.timer import timer

from services.common.dead_letters import DeadLetters
from services.common.events import (
    DEADLINE_APPROACHING, DEADLINE_BREACHED, DEADLINE_SET, NOTIFICATION_FAILED, REPORT_UPDATED, new_envelope, now,
)
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.notifications import domain, templates
from services.notifications.adapters import Adapters, Delivery, PermanentFailure
from services.notifications.exceptions import IllegalTransition, NotFound, Unavailable, ValidationFailed
from services.notifications.storage import NotificationsRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 3600
RETRY_INTERVAL_SECONDS = 5
RETRY_LEASE_SECONDS = 60
RETRY_BATCH = 100
DEADLINE_WAIT_SECONDS = 30
SEND_TIMEOUT_SECONDS = 10
# The worker that marks a message dead publishes its event; the relay takes over after this.
FAILURE_GRACE_SECONDS = 5
LATENCY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)


class NotificationsService(DeadLetters, ObservedService):
    name = "notifications"

    storage = MongoStore("lapor_notifications", NotificationsRepository)
    intake = TimedRpc("intake")
    routing = TimedRpc("routing")
    outbox = OutboxDispatcher()
    adapters = Adapters()
    config = Config()

    # --- what happened ----------------------------------------------------------------------------------

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        # Every entry is its own message, so an older entry arriving late is still told.
        for planned in domain.plan(event):
            planned = self._with_deadline(event, planned)
            if planned.data.get("agency_code") and not planned.data.get("agency_name"):
                planned.data["agency_name"] = self._agency_name(planned.data["agency_code"])
            if planned.audience == "reporter":
                contact = self.intake.contact(event["reporter_ref"])
                deliveries = domain.reporter_deliveries(event.get("channel"), contact, domain.skips_origin(event))
                owner = {"reporter_ref": event["reporter_ref"]}
                secret = None
            else:
                deliveries, secret = self._agency_targets(planned.data["agency_code"])
                owner = {"agency_code": planned.data["agency_code"]}
            self._write_and_send(
                planned, deliveries, secret, event, dict(owner, version=event["version"]),
                key=lambda channel, audience=planned.audience: domain.message_id(
                    event["tracking_id"], event["version"], audience, channel))

    @event_handler("sla", DEADLINE_SET, requeue_on_error=True)
    @once_per_event(DEADLINE_SET)
    def on_deadline_set(self, event):
        """Keep the deadline; a disposition message held for it goes out now, with it."""
        if event.get("version") is None:
            return
        self.storage.record_deadline(event["tracking_id"], event["stage"], event["version"], event["due_at"])
        if event["stage"] != domain.HOLD_STAGE:
            return
        while True:
            message = self.storage.claim_held(event["tracking_id"], event["version"], RETRY_LEASE_SECONDS)
            if message is None:
                return
            self._send_claimed(message)

    @event_handler("sla", DEADLINE_APPROACHING, requeue_on_error=True)
    @once_per_event(DEADLINE_APPROACHING)
    def on_deadline_approaching(self, event):
        self._on_deadline(DEADLINE_APPROACHING, event)

    @event_handler("sla", DEADLINE_BREACHED, requeue_on_error=True)
    @once_per_event(DEADLINE_BREACHED)
    def on_deadline_breached(self, event):
        self._on_deadline(DEADLINE_BREACHED, event)

    # --- RPC ----------------------------------------------------------------------------------------------

    @rpc
    @unavailable_on_store_error
    def send_access_code(self, tracking_id, reporter_ref, channel, access_code):
        """Send a reissued access code to the contact on file; the kept message has the code masked.

        False (and nothing kept) when there is no contact to send it to."""
        contact = self.intake.contact(reporter_ref) if reporter_ref else None
        deliveries = domain.reporter_deliveries(channel, contact)
        self._send_code(domain.ACCESS_CODE_TEMPLATE, tracking_id, access_code, deliveries,
                        key=lambda delivery_channel: domain.access_code_message_id(tracking_id, delivery_channel),
                        reporter_ref=reporter_ref)
        return bool(deliveries)

    @rpc
    @unavailable_on_store_error
    def send_receipt_code(self, tracking_id, channel, recipient, access_code):
        """Send a new report's first access code straight to `recipient` (a Twitter user id, from the mention),
        where the channel's own answer is public and cannot carry it; the kept message has the code masked.

        Once per report and channel however often it is asked (a redelivered mention): True when this call
        wrote the message and tried to send it, False when it was already written."""
        problems = domain.receipt_code_problems(tracking_id, channel, recipient, access_code)
        if problems:
            raise ValidationFailed("Permintaan kode akses tidak valid.", fields=problems)
        written = self._send_code(domain.RECEIPT_CODE_TEMPLATE, tracking_id, access_code, [(channel, recipient)],
                                  key=lambda _: domain.receipt_code_message_id(tracking_id, channel))
        return bool(written)

    @rpc
    @unavailable_on_store_error
    def messages(self, tracking_id=None, status=None, channel=None, page=1, per_page=50):
        """The outbox for national admins, newest first: text, masked recipient, channel, status, attempts."""
        found, total = self.storage.find_messages(tracking_id, status, channel, page, per_page)
        return {"items": [_message_view(m) for m in found], "page": page, "per_page": per_page, "total": total}

    @rpc
    @unavailable_on_store_error
    def resend(self, message_id, actor):
        """A dead (or failed) message sent again now, its tries reset; the answer is the message after the try."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("resend", actor, details={"message_id": str(message_id)[:64]}):
            return self._resend(message_id, actor)

    def _resend(self, message_id, actor):
        kept = self.storage.get_message(message_id)
        if kept is not None and kept.get("secret"):
            raise IllegalTransition("Kode akses tidak disimpan, jadi tidak dapat dikirim ulang; pelapor dapat "
                                    "meminta kode baru.")
        message = self.storage.claim_for_resend(message_id, (actor or {}).get("username"), RETRY_LEASE_SECONDS)
        if message is None:
            found = self.storage.get_message(message_id)
            if found is None:
                raise NotFound("Pesan tidak ditemukan.")
            raise IllegalTransition(
                f"Hanya pesan yang gagal terkirim yang dapat dikirim ulang (status: {found['status']}).")
        self._send_claimed(message)
        return _message_view(self.storage.get_message(message_id))

    @rpc
    @unavailable_on_store_error
    def templates(self):
        """Every template in both languages: its text, the default, its placeholders, who last changed it."""
        overrides = self.storage.template_overrides()
        return [_template_view(name, language, overrides.get((name, language)))
                for name in templates.names() for language in templates.LANGUAGES]

    @rpc
    @unavailable_on_store_error
    def update_template(self, name, language, text, actor):
        """A national admin's text for one template; an unknown placeholder is refused, naming it."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("update_template", actor, details={"name": str(name)[:64], "language": str(language)[:16]}):
            return self._update_template(name, language, text, actor)

    def _update_template(self, name, language, text, actor):
        self._known_template(name)
        try:
            templates.check(name, language, text)
        except templates.TemplateError as exc:
            fields = {key: [problem] for key, problem in exc.problems.items()}
            raise ValidationFailed("Templat tidak valid.", fields=fields)
        self.storage.save_template(name, language, text, (actor or {}).get("username"))
        return _template_view(name, language, self.storage.template_override(name, language))

    @rpc
    @unavailable_on_store_error
    def reset_template(self, name, language, actor=None):
        """Back to the default text."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("reset_template", actor, details={"name": str(name)[:64], "language": str(language)[:16]}):
            self._known_template(name)
            if language not in templates.LANGUAGES:
                raise NotFound("Bahasa templat tidak dikenal.")
            self.storage.delete_template(name, language)
            return _template_view(name, language, None)

    # --- retries ------------------------------------------------------------------------------------------

    @timer(interval=RETRY_INTERVAL_SECONDS)
    def retry_failed(self):
        """Messages due again (backoff elapsed, a sender vanished, a deadline waited for), then owed events."""
        for _ in range(RETRY_BATCH):
            message = self.storage.claim_retry(RETRY_LEASE_SECONDS)
            if message is None or not self._send_claimed(message):
                break
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished_failure(RELAY_LEASE_SECONDS),
            publish=lambda message: self.outbox.publish_now(NOTIFICATION_FAILED, message["failure_event"]),
            mark_published=lambda message: self.storage.mark_failure_published(message["_id"]),
        )

    # --- the work -----------------------------------------------------------------------------------------

    def _on_deadline(self, event_type, event):
        planned = domain.deadline_plan(event_type, event)
        if planned is None:
            return
        code = planned.data["agency_code"]
        planned.data["agency_name"] = self._agency_name(code)
        deliveries, secret = self._agency_targets(code)
        self._write_and_send(
            planned, deliveries, secret, event,
            {"agency_code": code, "version": event.get("version"), "clock_id": event["clock_id"]},
            key=lambda channel: domain.deadline_message_id(event_type, event, channel))

    def _with_deadline(self, event, planned):
        """A held message whose deadline is already known is not held."""
        if not planned.hold:
            return planned
        due_at = self.storage.deadline(event["tracking_id"], domain.HOLD_STAGE, event["version"])
        if due_at is None:
            return planned
        return planned._replace(data=dict(planned.data, due_at=due_at.isoformat()), hold=False)

    def _write_and_send(self, planned, deliveries, secret, event, owner, key):
        hold_seconds = float(self.config.get("NOTIFY_DEADLINE_WAIT_SECONDS", DEADLINE_WAIT_SECONDS))
        for channel, recipient in deliveries:
            message = dict(
                owner, _id=key(channel), tracking_id=event["tracking_id"], audience=planned.audience,
                channel=channel, language=self._language(), template=planned.template, data=planned.data,
                recipient_masked=domain.mask_recipient(recipient, channel),
                text=self._render(planned.template, planned.data, channel), event_at=event["emitted_at"],
            )
            if planned.hold:
                message["hold_stage"] = domain.HOLD_STAGE
            if self.storage.add_message(message, hold_seconds if planned.hold else None) and not planned.hold:
                self._deliver(self.storage.get_message(message["_id"]), recipient, secret=secret)

    def _send_code(self, template, tracking_id, access_code, deliveries, key, reporter_ref=None):
        """Write and send one access-code message per (channel, recipient): sent with the code, kept with it
        masked and marked secret, so no retry or resend ever sends the mask. The channels written now (a key
        already taken is a message already on its way)."""
        texts = {language: self._template_text(template, language) for language in templates.LANGUAGES}
        text, kept_text = domain.access_code_texts(tracking_id, access_code, texts)
        written = []
        for channel, recipient in deliveries:
            message = {
                "_id": key(channel), "tracking_id": tracking_id, "version": None, "audience": "reporter",
                "reporter_ref": reporter_ref, "channel": channel, "language": self._language(),
                "recipient_masked": domain.mask_recipient(recipient, channel),
                "template": template, "text": kept_text, "secret": True, "event_at": now(),
            }
            if self.storage.add_message(message):
                self._deliver(self.storage.get_message(message["_id"]), recipient, text=text)
                written.append(channel)
        return written

    def _send_claimed(self, message):
        """Send a claimed message to the contact now on file; False when a dependency is away (try later)."""
        if message.get("secret"):
            # The access code is not kept, so it cannot be sent again; the reporter may ask for another.
            self._fail(message, "access code not kept for a resend", dead=True)
            return True
        try:
            recipient, secret = self._recipient(message)
        except Unavailable as exc:
            log.warning("message %s waits: %s", message["_id"], exc)
            return False
        if recipient is None:
            self._fail(message, "no contact on file for this channel", dead=True)
            return True
        text = message["text"]
        if message.get("hold_stage") and not message.get("rendered_at"):
            due_at = self.storage.deadline(message["tracking_id"], message["hold_stage"], message["version"])
            data = dict(message["data"], due_at=due_at.isoformat() if due_at else None)
            text = self._render(message["template"], data, message["channel"], message.get("language"))
            self.storage.set_text(message["_id"], text)
        self._deliver(dict(message, text=text), recipient, secret=secret)
        return True

    def _recipient(self, message):
        """(recipient, webhook secret) from the contact on file now: contacts are never kept here."""
        if message["audience"] == "reporter":
            contact = self.intake.contact(message["reporter_ref"]) if message.get("reporter_ref") else None
            return domain.reporter_recipient(message["channel"], contact), None
        deliveries, secret = self._agency_targets(message["agency_code"])
        return dict(deliveries).get(message["channel"]), secret

    def _agency_targets(self, agency_code):
        contacts = self.routing.agency_contacts(agency_code) or {}
        secret = self.adapters.webhook_secret(contacts.get("webhook_secret_ref"))
        return domain.agency_deliveries(agency_code, contacts), secret

    def _agency_name(self, agency_code):
        agency = self.routing.agency(agency_code) if agency_code else None
        return agency["name"] if agency else None

    def _deliver(self, message, recipient, text=None, secret=None):
        """Send `text` (default: the kept text; a secret's clear text is never kept) within the send timeout."""
        delivery = Delivery(
            message_id=message["_id"], tracking_id=message["tracking_id"], channel=message["channel"],
            recipient=recipient, masked=message["recipient_masked"], text=text or message["text"],
            subject=templates.subject(message["tracking_id"], message.get("language") or self._language()),
            payload=_webhook_payload(message), secret=secret, kept_text=message["text"],
        )
        timeout = float(self.config.get("NOTIFY_SEND_TIMEOUT", SEND_TIMEOUT_SECONDS))
        try:
            with eventlet.Timeout(timeout):
                result = self.adapters.adapter_for(message["channel"]).send(delivery)
        except PermanentFailure as exc:
            self._fail(message, str(exc), dead=True)
            return
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any adapter failure is retried, then dead
            # Only the error's type: an SMTP/SMPP/HTTP error text can contain the recipient (DESIGN §2).
            log.warning("delivery of %s failed: %s", message["_id"], type(exc).__name__)
            self._fail(message, type(exc).__name__, dead=False)
            return
        self.storage.mark_sent(message["_id"], result["adapter"])
        channel = message["channel"]
        self.metrics.counter("lapor_notifications_sent", "Messages sent", ("channel",)).labels(channel).inc()
        if message.get("event_at"):
            self.metrics.histogram(
                "lapor_notification_latency_seconds", "From the event to the message sent", ("channel",),
                buckets=LATENCY_BUCKETS,
            ).labels(channel).observe(max((now() - message["event_at"]).total_seconds(), 0))

    def _fail(self, message, error, dead):
        attempts = message["attempts"] + 1
        max_attempts = int(self.config.get("NOTIFY_MAX_ATTEMPTS", MAX_ATTEMPTS))
        dead = dead or attempts >= max_attempts
        retry_in = domain.retry_delay(attempts, float(self.config.get("NOTIFY_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS)),
                                      float(self.config.get("NOTIFY_RETRY_CAP_SECONDS", RETRY_CAP_SECONDS)))
        channel = message["channel"]
        self.metrics.counter("lapor_notifications_failed", "Tries that did not send", ("channel",)).labels(
            channel).inc()
        if not dead:
            self.storage.mark_failed(message["_id"], error, retry_in, dead=False)
            return
        event = dict(new_envelope(message["tracking_id"]), outbox_id=message["_id"], channel=channel, reason=error)
        self.storage.mark_failed(message["_id"], error, retry_in, dead=True, failure_event=event,
                                 grace_seconds=FAILURE_GRACE_SECONDS)
        self.metrics.counter("lapor_notifications_dead", "Messages dead-lettered", ("channel",)).labels(channel).inc()
        message_id = message["_id"]
        self.outbox.after_reply(NOTIFICATION_FAILED, event,
                                on_published=lambda: self.storage.mark_failure_published(message_id))

    def _render(self, name, data, channel, language=None):
        language = language or self._language()
        values = templates.values_for(name, data, self._portal_url(), language)
        limit = templates.SMS_LENGTH if channel == "sms" else None
        return templates.render(self._template_text(name, language), values, limit)

    def _template_text(self, name, language):
        override = self.storage.template_override(name, language)
        return override["text"] if override else templates.default_text(name, language)

    def _known_template(self, name):
        if name not in templates.DEFAULTS:
            raise NotFound("Templat tidak dikenal.")

    def _language(self):
        language = self.config.get("NOTIFY_LANGUAGE") or templates.DEFAULT_LANGUAGE
        return language if language in templates.LANGUAGES else templates.DEFAULT_LANGUAGE

    def _portal_url(self):
        return self.config.get("PUBLIC_URL") or "http://127.0.0.1:8000"


def _message_view(message):
    return {
        "id": message["_id"], "tracking_id": message["tracking_id"], "audience": message.get("audience"),
        "agency_code": message.get("agency_code"), "channel": message["channel"],
        "recipient": message["recipient_masked"], "template": message["template"], "text": message["text"],
        "status": message["status"], "attempts": message["attempts"], "last_error": message.get("last_error"),
        "created_at": message["created_at"].isoformat(),
        "sent_at": message["sent_at"].isoformat() if message.get("sent_at") else None,
    }


def _template_view(name, language, override):
    return {
        "name": name, "language": language, "audience": templates.audience_of(name),
        "text": override["text"] if override else templates.default_text(name, language),
        "default_text": templates.default_text(name, language),
        "placeholders": list(templates.placeholders_of(name)), "customized": override is not None,
        "updated_by": override.get("updated_by") if override else None,
        "updated_at": override["updated_at"].isoformat() if override and override.get("updated_at") else None,
    }


def _webhook_payload(message):
    """What an agency system receives: the message and its data (never a reporter's identity)."""
    return {"id": message["_id"], "tracking_id": message["tracking_id"], "template": message["template"],
            "language": message.get("language"), "text": message["text"], "data": message.get("data") or {}}
