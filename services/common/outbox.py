"""Event publishing with an outbox (DESIGN §2, §3).

A service writes the event's payload with its own document (the outbox flag), answers, and only
then publishes: `OutboxDispatcher` publishes after the worker's result has been sent and then
calls the `on_published` callback that clears the flag. Whatever failed to go out is picked up by
the service's relay timer, which calls `publish_now` for each unpublished document.
"""
import logging
import weakref

from nameko.events import EventDispatcher

from services.common.events import dump_event

log = logging.getLogger(__name__)

# The relays: how often they look, how old an unpublished write must be before they take it (the
# answering worker normally publishes it first), how long one relay replica holds it, how many per run.
RELAY_INTERVAL_SECONDS = 2
RELAY_GRACE_SECONDS = 3
RELAY_LEASE_SECONDS = 30
RELAY_BATCH = 200

# Fail fast when the broker is away: the relay will retry, nobody should wait on it.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


def relay_unpublished(claim, publish, mark_published, skip=lambda document: False, batch=RELAY_BATCH):
    """The relay loop every outbox shares: claim a document, publish its event, clear its flag.

    Stops at the first failed publish (the broker is away; the claim's lease runs out and a later
    run tries again). Returns False then, True when it ran out of work or reached `batch`.
    """
    for _ in range(batch):
        document = claim()
        if document is None:
            return True
        if skip(document):
            continue
        try:
            publish(document)
        except Exception as exc:  # noqa: BLE001 - broker still away; the lease expires and we retry
            log.warning("relay could not publish %s: %s", document.get("_id"), exc)
            return False
        mark_published(document)
    return True


class _Outbox:
    def __init__(self, provider, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def after_reply(self, event_type, payload, on_published=None):
        """Queue an event to publish once the worker has answered."""
        self._provider.pending.setdefault(self._worker_ctx, []).append((event_type, payload, on_published))

    def publish_now(self, event_type, payload):
        self._provider.dispatch(self._worker_ctx, event_type, payload)


class OutboxDispatcher(EventDispatcher):
    def __init__(self, **options):
        options.setdefault("retry_policy", PUBLISH_RETRY_POLICY)
        super().__init__(**options)
        self.pending = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx):
        return _Outbox(self, worker_ctx)

    def dispatch(self, worker_ctx, event_type, payload):
        dispatch = super().get_dependency(worker_ctx)
        dispatch(event_type, dump_event(event_type, payload))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        for event_type, payload, on_published in self.pending.pop(worker_ctx, []):
            if exc_info is not None:
                continue  # the write did not complete as a whole; the relay decides
            try:
                self.dispatch(worker_ctx, event_type, payload)
            except Exception as exc:  # noqa: BLE001 - the relay publishes it later
                log.warning("publish of %s deferred to the relay: %s", event_type, exc)
                continue
            if on_published is not None:
                _clear_flag(event_type, on_published)


def _clear_flag(event_type, on_published):
    """Clear the outbox flag of a published event. Never raises: an exception here would escape
    `worker_result` and, in Nameko 2.14, end the whole container (a store failover at this moment, say).
    A flag left set costs only a second publish by the relay, which the consumers' dedupe absorbs."""
    try:
        on_published()
    except Exception as exc:  # noqa: BLE001 - see above
        log.warning("published %s but could not clear its outbox flag (the relay publishes it again): %s",
                    event_type, exc)
