"""Event handling that survives at-least-once delivery: once per `event_id`, retried, then parked.

Nameko acks a message even when its handler raised (DESIGN §7). Handlers are therefore declared
with `requeue_on_error=True` and wrapped by `once_per_event`: a failure is counted in the store and
the message goes back to the queue after a capped backoff. A dependency being away (`Unavailable`)
is retried for as long as it takes; any other failure is parked in `dead_events` (and counted)
after `MAX_ATTEMPTS` instead of looping for ever.

A parked event can be replayed once its cause is fixed (`replay_parked`, offered to operators by
services/common/dead_letters.py): the same handler runs on the stored payload through the same path,
so an event processed meanwhile is skipped, a success is marked processed and the record `replayed`,
and a failure leaves the record parked with the new error. Each replay is also kept in `event_replays`.
"""
import functools
import logging
from datetime import datetime, timedelta, timezone

import eventlet
from marshmallow import ValidationError
from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.errors import Unavailable
from services.common.events import load_event, now

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 3.0

# A parked record's states, and what a replay can come to.
PARKED, REPLAYED = "parked", "replayed"
OUTCOME_REPLAYED = "replayed"                    # the handler ran and succeeded: the record is `replayed`
OUTCOME_ALREADY_PROCESSED = "already_processed"  # processed meanwhile (a redelivery): nothing ran, record `replayed`
OUTCOME_ALREADY_REPLAYED = "already_replayed"    # the record was replayed before: nothing done
OUTCOME_FAILED = "failed"                        # the handler failed again: still parked, with the new error
OUTCOME_BUSY = "busy"                            # another replay of it is running: nothing done
# How long a replay holds a record against a second replay running at the same moment.
REPLAY_LEASE_SECONDS = 120
_FREE = datetime(1970, 1, 1, tzinfo=timezone.utc)  # a lease that has run out


class EventLedger:
    """Mixed into a service's repository: its processed, failing and parked events."""

    def ensure_ledger_indexes(self):
        self.db.event_failures.create_index("updated_at")
        self.db.dead_events.create_index("parked_at")
        self.db.dead_events.create_index([("status", 1), ("event_type", 1)])
        self.db.event_replays.create_index("dead_event_id")
        # Records parked before replays existed have no state: they are waiting to be replayed.
        self.db.dead_events.update_many(
            {"status": {"$exists": False}}, {"$set": {"status": PARKED, "lease_until": _FREE, "replay_count": 0}})

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

    def reset_event_failures(self, event_id):
        """Forget an event's failed tries, so a delivery of it gets every retry again."""
        self.db.event_failures.delete_one({"_id": event_id})

    def park_event(self, event_id, event_type, handler, payload, error, attempts=1):
        self.db.dead_events.update_one(
            {"_id": f"{event_id}:{handler}"},
            {"$setOnInsert": {
                "event_id": event_id, "event_type": event_type, "handler": handler,
                "payload": payload, "error": error, "parked_at": now(), "attempts": attempts,
                "status": PARKED, "lease_until": _FREE, "replay_count": 0,
            }},
            upsert=True,
        )

    def parked_events(self):
        return list(self.db.dead_events.find({}, {"_id": 0}))

    # --- replays -------------------------------------------------------------------------------------------

    def find_dead_events(self, event_type=None, handler=None, status=PARKED, skip=0, limit=50):
        """(records newest first, how many match); `status` None for every record."""
        query = _dead_event_query(event_type, handler, status)
        records = []
        if limit:
            records = list(self.db.dead_events.find(query).sort("parked_at", DESCENDING).skip(skip).limit(limit))
        return records, _count(self.db.dead_events, query)

    def dead_event_ids(self, event_type, handler=None, limit=50):
        """The ids of up to `limit` parked records of one event type (and handler): the least replayed first,
        then the oldest, so records that fail again do not hide the others from the next call."""
        query = _dead_event_query(event_type, handler, PARKED)
        cursor = self.db.dead_events.find(query, {"_id": 1}).sort([("replay_count", 1), ("parked_at", 1)])
        return [record["_id"] for record in cursor.limit(limit)]

    def dead_event(self, record_id):
        return self.db.dead_events.find_one({"_id": record_id})

    def claim_dead_event(self, record_id, lease_seconds=REPLAY_LEASE_SECONDS):
        """The parked record, held for one replay; None when it is not parked or another replay holds it."""
        current = now()
        return self.db.dead_events.find_one_and_update(
            {"_id": record_id, "status": PARKED, "lease_until": {"$lt": current}},
            {"$set": {"lease_until": current + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def release_dead_event(self, record_id):
        """Give a claimed record back untouched (its replay could not run to the end)."""
        self.db.dead_events.update_one({"_id": record_id}, {"$set": {"lease_until": _FREE}})

    def settle_replay(self, record, outcome, error, by, at):
        """Write what a claimed record's replay came to on the record itself, and keep the replay."""
        fields = {"lease_until": _FREE, "replayed_at": at, "replayed_by": by, "replay_outcome": outcome}
        increments = {"replay_count": 1}
        if outcome == OUTCOME_FAILED:
            fields.update(status=PARKED, error=error)
            increments["attempts"] = 1
        else:
            fields["status"] = REPLAYED
        self.db.dead_events.update_one({"_id": record["_id"]}, {"$set": fields, "$inc": increments})
        self.db.event_replays.insert_one({
            "dead_event_id": record["_id"], "event_id": record.get("event_id"),
            "event_type": record.get("event_type"), "handler": record.get("handler"),
            "outcome": outcome, "error": error, "by": by, "at": at,
        })

    def event_replays(self, record_id):
        return list(self.db.event_replays.find({"dead_event_id": record_id}, {"_id": 0}).sort("at", 1))


def _dead_event_query(event_type, handler, status):
    query = {}
    if status is not None:
        query["status"] = status
    if event_type is not None:
        query["event_type"] = event_type
    if handler is not None:
        query["handler"] = handler
    return query


def _count(collection, query):
    """count_matching of services/common/mongo.py (a $group on null, which the stand-in answers in SQL)."""
    rows = list(collection.aggregate([{"$match": query}, {"$group": {"_id": None, "n": {"$sum": 1}}}]))
    return rows[0]["n"] if rows else 0


# --- the path every delivery takes ---------------------------------------------------------------------------

_SKIPPED, _INVALID, _FAILED, _DONE = "skipped", "invalid", "failed", "done"


def _event_id(payload):
    return str(payload.get("event_id", "")) if isinstance(payload, dict) else ""


def _handle(service, event_type, handler, payload):
    """One delivery: skip an event already processed, load it, run the handler, mark it processed.

    (status, value): `_SKIPPED`; `_INVALID` with the reason; `_FAILED` with the handler's exception; `_DONE` with
    the handler's result. A store error outside the handler itself propagates (the message is requeued)."""
    event_id = _event_id(payload)
    if event_id and service.storage.event_processed(event_id):
        return _SKIPPED, None
    try:
        event = load_event(event_type, payload)
    except ValidationError as exc:
        return _INVALID, f"invalid payload: {exc.messages}"
    try:
        result = handler(service, event)
    except Exception as exc:  # noqa: BLE001 - every failure is counted, retried, then parked
        return _FAILED, exc
    service.storage.mark_event_processed(event_id, event_type)
    return _DONE, result


def once_per_event(event_type):
    """Decorate an event handler `(self, event)`; the service needs `storage` and `metrics`."""

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(self, payload):
            status, value = _handle(self, event_type, handler, payload)
            if status == _INVALID:
                _park(self, _event_id(payload) or "unknown", event_type, handler.__name__, payload, value)
                return None
            if status == _FAILED:
                _retry_or_park(self, _event_id(payload), event_type, handler.__name__, payload, value)
                return None
            return value

        # What a replay needs to run this handler again the same way (see `replay_parked`).
        wrapper.ledger_event_type = event_type
        wrapper.ledger_handler = handler
        return wrapper

    return decorate


def ledger_handlers(service_cls):
    """{handler name: event type} of every `once_per_event` handler of a service class."""
    handlers = {}
    for name in dir(service_cls):
        event_type = getattr(getattr(service_cls, name, None), "ledger_event_type", None)
        if isinstance(event_type, str):
            handlers[name] = event_type
    return handlers


def _retry_or_park(service, event_id, event_type, handler_name, payload, exc):
    error = f"{type(exc).__name__}: {exc}"
    attempts = service.storage.count_event_failure(event_id, error)
    # A dependency that is away (Unavailable) is waited for; parking would drop an accepted report.
    if attempts >= MAX_ATTEMPTS and not isinstance(exc, Unavailable):
        _park(service, event_id, event_type, handler_name, payload, error, attempts)
        return
    log.warning("%s failed on %s (attempt %s): %s", handler_name, event_id, attempts, error)
    eventlet.sleep(min(BACKOFF_SECONDS * 2 ** attempts, MAX_BACKOFF_SECONDS))
    raise exc


def _park(service, event_id, event_type, handler_name, payload, error, attempts=1):
    log.error("parking %s %s in dead_events: %s", event_type, event_id, error)
    service.storage.park_event(event_id, event_type, handler_name, payload, error, attempts)
    service.metrics.counter(
        "lapor_dead_events", "Events parked after failing every retry", ("service", "event_type")
    ).labels(service.name, event_type).inc()


# --- replays -------------------------------------------------------------------------------------------------

def replay_parked(service, record_id, by):
    """Deliver one parked record again to the handler that parked it, the way the bus would; (outcome, error).

    Its failure count is reset first (a later delivery gets every retry). An event processed meanwhile is not
    run again; a success marks it processed; a failure keeps the record parked with the new error and one more
    attempt. A record already replayed, or held by a replay running now, is left alone."""
    record = service.storage.claim_dead_event(record_id)
    if record is None:
        found = service.storage.dead_event(record_id)
        if found is None:
            return None, None
        return (OUTCOME_BUSY if found.get("status") == PARKED else OUTCOME_ALREADY_REPLAYED), None
    try:
        outcome, error = _run_again(service, record)
    except Exception:  # a store error outside the handler: give the record back, let the caller see it
        service.storage.release_dead_event(record_id)
        raise
    service.storage.settle_replay(record, outcome, error, by, now())
    if outcome == OUTCOME_FAILED:
        log.warning("replay of %s by %s failed: %s", record_id, by, error)
    else:
        log.info("replay of %s by %s: %s", record_id, by, outcome)
    service.metrics.counter(
        "lapor_dead_event_replays", "Parked events delivered again by an operator", ("service", "event_type",
                                                                                      "outcome")
    ).labels(service.name, record.get("event_type") or "", outcome).inc()
    return outcome, error


def _run_again(service, record):
    wrapper = getattr(type(service), record.get("handler") or "", None)
    handler = getattr(wrapper, "ledger_handler", None)
    event_type = getattr(wrapper, "ledger_event_type", None)
    if handler is None or event_type != record.get("event_type"):
        return OUTCOME_FAILED, f"no handler {record.get('handler')} of {record.get('event_type')} in {service.name}"
    if record.get("event_id"):
        service.storage.reset_event_failures(record["event_id"])
    status, value = _handle(service, event_type, handler, record.get("payload"))
    if status == _SKIPPED:
        return OUTCOME_ALREADY_PROCESSED, None
    if status == _INVALID:
        return OUTCOME_FAILED, value
    if status == _FAILED:
        return OUTCOME_FAILED, f"{type(value).__name__}: {value}"
    return OUTCOME_REPLAYED, None
