"""Event handling that survives at-least-once delivery: once per `event_id`, retried, then parked.

Nameko acks a message even when its handler raised (DESIGN §7). Handlers are therefore declared
with `requeue_on_error=True` and wrapped by `once_per_event`: a failure is counted in the store and
the message goes back to the queue after a capped backoff. A dependency being away (`Unavailable`)
is retried for as long as it takes; any other failure is parked in `dead_events` (and counted)
after `MAX_ATTEMPTS` instead of looping for ever.
"""
import functools
import logging

import eventlet
from marshmallow import ValidationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.errors import Unavailable
from services.common.events import load_event, now

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 3.0


class EventLedger:
    """Mixed into a service's repository: its processed, failing and parked events."""

    def ensure_ledger_indexes(self):
        self.db.event_failures.create_index("updated_at")
        self.db.dead_events.create_index("parked_at")

    def event_processed(self, event_id):
        return self.db.processed_events.find_one({"_id": event_id}, {"_id": 1}) is not None

    def mark_event_processed(self, event_id, event_type):
        try:
            self.db.processed_events.insert_one({"_id": event_id, "event_type": event_type, "at": now()})
        except DuplicateKeyError:
            pass

    def count_event_failure(self, event_id, error):
        doc = self.db.event_failures.find_one_and_update(
            {"_id": event_id},
            {"$inc": {"attempts": 1}, "$set": {"error": error, "updated_at": now()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return doc["attempts"]

    def park_event(self, event_id, event_type, handler, payload, error):
        self.db.dead_events.update_one(
            {"_id": f"{event_id}:{handler}"},
            {"$setOnInsert": {
                "event_id": event_id, "event_type": event_type, "handler": handler,
                "payload": payload, "error": error, "parked_at": now(),
            }},
            upsert=True,
        )

    def parked_events(self):
        return list(self.db.dead_events.find({}, {"_id": 0}))


def once_per_event(event_type):
    """Decorate an event handler `(self, event)`; the service needs `storage` and `metrics`."""

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(self, payload):
            event_id = str(payload.get("event_id", "")) if isinstance(payload, dict) else ""
            if event_id and self.storage.event_processed(event_id):
                return None
            try:
                event = load_event(event_type, payload)
            except ValidationError as exc:
                _park(self, event_id or "unknown", event_type, handler.__name__, payload, f"invalid payload: {exc.messages}")
                return None
            try:
                result = handler(self, event)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, retried, then parked
                _retry_or_park(self, event_id, event_type, handler.__name__, payload, exc)
                return None
            self.storage.mark_event_processed(event_id, event_type)
            return result

        return wrapper

    return decorate


def _retry_or_park(service, event_id, event_type, handler_name, payload, exc):
    error = f"{type(exc).__name__}: {exc}"
    attempts = service.storage.count_event_failure(event_id, error)
    # A dependency that is away (Unavailable) is waited for; parking would drop an accepted report.
    if attempts >= MAX_ATTEMPTS and not isinstance(exc, Unavailable):
        _park(service, event_id, event_type, handler_name, payload, error)
        return
    log.warning("%s failed on %s (attempt %s): %s", handler_name, event_id, attempts, error)
    eventlet.sleep(min(BACKOFF_SECONDS * 2 ** attempts, MAX_BACKOFF_SECONDS))
    raise exc


def _park(service, event_id, event_type, handler_name, payload, error):
    log.error("parking %s %s in dead_events: %s", event_type, event_id, error)
    service.storage.park_event(event_id, event_type, handler_name, payload, error)
    service.metrics.counter(
        "lapor_dead_events", "Events parked after failing every retry", ("service", "event_type")
    ).labels(service.name, event_type).inc()
